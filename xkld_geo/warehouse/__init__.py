"""Building the warehouse: reading and checking the input files, the crosswalk across the 2025
reform, the demo generator, and the atomic, idempotent build itself (:mod:`.assembly`)."""
