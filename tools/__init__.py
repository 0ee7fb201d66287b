"""Developer tools kept with the project: the log generator, the rules page generator, the corpus report."""
