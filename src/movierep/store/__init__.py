"""The embeddings store: every movie's event, shot and scene embeddings, indexed for search.

``layout`` (the on-disk format and its readers, ``verify``) ← ``embed`` (videos → store)
← ``index`` (FAISS index over one level, ``search``). The three stages follow
clip-retrieval's inference → index → back end split: embedding writes plain Parquet that
any tool opens, the index is built from those files alone, and search reads only the index.
"""
