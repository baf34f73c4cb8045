"""The reporting cycle: reporting completeness, people in charge, the periodic report, the year-end emulation."""
