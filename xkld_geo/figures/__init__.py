"""The programme's figures as views, reports and the release read them: reporting periods
(:mod:`.periods`), the named reads that several views share (:mod:`.queries`), indicators and
their classes (:mod:`.metrics`), disclosure control of public counts (:mod:`.disclosure`), the
reference data administrators edit (:mod:`.references`) and the downloads (:mod:`.export`)."""
