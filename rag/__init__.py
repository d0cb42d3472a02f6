"""Cited-answer chatbot over the facial-recognition corpus: settings, retrieval, answers, CLI."""
