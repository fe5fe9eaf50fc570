"""Scale-out on Ray: the per-video stages and ``movierep embed`` over a cluster.

``session`` (start Ray for a run, or join a cluster with ``--address``) ← ``ray_jobs``
(:class:`~movierep.scale.ray_jobs.RayJobs`: the per-video job of ``ingest shots`` /
``ingest events`` as Ray tasks, through :mod:`movierep.jobs`' own part files and merge) and
``ray_engine`` (:func:`~movierep.scale.ray_engine.embed_catalog_ray`: ingestion in CPU
tasks, encoders in actor pools, the store's own writer). Both write exactly what the local
engine writes, so a run may switch engines and resume. Ray is an extra
(``pip install 'movierep[scale]'``) and is imported only when a Ray run starts.
"""
