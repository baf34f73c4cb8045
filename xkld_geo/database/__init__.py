"""The one way into the data: the database object and its connections (:mod:`.db`), the
extensions (:mod:`.extensions`), the shared PostgreSQL store (:mod:`.store`), query deadlines
(:mod:`.watchdog`), the data version and the results shared per version (:mod:`.dataversion`,
:mod:`.cache`, :mod:`.singleflight`), backups (:mod:`.backup`), leftovers of killed work
(:mod:`.leftovers`) and the schema, declared once and moved by numbered migrations (:mod:`.schema`).

Where SQL lives: a statement that belongs to one concept stays beside it, in that concept's module
(plans in :mod:`xkld_geo.planning.plans`, cases in :mod:`xkld_geo.protection.cases`, ...); reads of
the figures that several views share are in :mod:`xkld_geo.figures.queries`. Wherever it lives, every
statement runs through the database object of :mod:`.db`, with a name and bound parameters, and the
few identifiers that vary are whitelisted or quoted by ``db.quote_identifier``."""
