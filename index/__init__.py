"""Building and loading the index: documents, sentence-aware chunks, embeddings, Chroma and BM25."""
