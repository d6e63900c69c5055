"""Raw documents (a source article and its reference translation) turned into segments: clean, split, align."""
