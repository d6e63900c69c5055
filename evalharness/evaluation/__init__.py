"""Between the translations and the results folder: every cell scored at each level its dataset's kind says
(`levels`), then the rows of scores.csv, pairwise.csv and segments.jsonl and the analyses' data built from the
scores and the statistics (`rows`). The runner calls them in order, one dataset at a time."""
