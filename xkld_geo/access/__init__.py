"""Who someone is and what they may do: accounts, roles, sessions and the audit log (:mod:`.auth`),
the second factor (:mod:`.second_factor`) and every account's place, checked on the server
(:mod:`.scope`)."""
