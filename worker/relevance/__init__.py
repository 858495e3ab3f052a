"""Relevance: the rules format, text folding, matching and scoring (classify), batch classification,
rules drafts from seed articles, evaluation on labeled items, and suggestions from the stream.
The one package of newswatch: the boundary between "what is this item about" and everything else."""
