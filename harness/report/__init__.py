"""What a person reads: the text table and exit code, the JUnit summary, the HTML pages and
their plots, compare's text, and the I/O that reads run directories and writes the pages."""
