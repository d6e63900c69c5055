"""Executors: where a run's cells are translated and its scoring chunks computed.

`base.LocalExecutor` (the default) works in this process and its forked workers; `ray_executor.RayExecutor`
sends translation shards to model actors and scoring chunks to tasks on a Ray cluster. Both stand behind
`base.Executor`, so the runner does not know which one runs the cells. Nothing is imported here, so that
`executors.settings` can be read by the config without loading either.
"""
