"""How anything is written for a person: Vietnamese labels of stored codes (:mod:`.labels`), vi-VN
numbers and dates (:mod:`.formats`), Vietnamese order (:mod:`.collation`), escaping for HTML,
Markdown and spreadsheets (:mod:`.markup`), the one writer of spreadsheets and CSV files
(:mod:`.sheets`) and the users' guides (:mod:`.guides`)."""
