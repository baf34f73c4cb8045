"""Data intake: import kinds and templates, spreadsheet reading, legacy encodings, cell checks, commune matching, writes, registers."""
