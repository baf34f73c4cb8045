"""What the pages show: each module builds a view (a dataclass) from the warehouse for one page."""
