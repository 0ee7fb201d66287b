"""Fast extractors: read a log in blocks, build Events only for what detection keeps, summarise the rest."""
