"""Citizen protection after departure (issue #18 part B): the register of cases of workers in
trouble (:mod:`.cases`), the figures derived from it (:mod:`.problems`), the families' clubs
(:mod:`.clubs`), the returnees (:mod:`.returnees`) and the priority groups a worker belongs to
(:mod:`.groups`). Each view is a ``build_*()`` function returning a dataclass the UI draws."""
