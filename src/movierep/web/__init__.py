"""``movierep serve``: a web page to browse an embeddings store.

``store_files`` (which files a URL may reach: images inside the store only) and
``moderation`` (a saved classifier head and the filter it drives) ← ``browse`` (movies,
items and nearest items of other movies, read from the store and its FAISS index) ←
``app`` (the FastAPI app: JSON API + the static page in ``static/``). This is the back-end
stage of clip-retrieval's inference → index → back end design: it reads what
``movierep embed`` and ``movierep index`` wrote and writes nothing but a missing index.
FastAPI and uvicorn are imported by ``app`` only (the ``web`` extra).
"""
