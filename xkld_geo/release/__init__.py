"""The static open-data release: what a release holds (:mod:`.content`: the public tables, already
rounded, their metadata and revisions) and how it is written as a self-contained site (:mod:`.site`,
templates and scripts in ``assets/``)."""
