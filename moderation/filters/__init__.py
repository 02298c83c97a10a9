"""Pure text filters: personal data and watched words, returned as spans."""
