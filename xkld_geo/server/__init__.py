"""What ``serve.py`` runs beside the Streamlit app: the session-cookie and geometry routes
(:mod:`.gateway`), the replica's health answer (:mod:`.health`) and the listening socket
(:mod:`.listener`). No Streamlit page logic here."""
