"""The v1 HTTP API: a thin FastAPI layer over core/ for field apps and back-office tools.

Routes validate the HTTP shape (types, required fields) and call the same core functions as the
dashboard's pages; rules, SQL, role checks and audit stay in core. `api.main:app` is the ASGI app.
"""
