"""The gold-question set and the benchmark that scores answers, citations and abstentions."""
