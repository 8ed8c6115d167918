"""`unclip serve --ray`: the model as a Ray Serve deployment (replicas on many GPUs and machines) and the
same FastAPI app as the ingress deployment; shared state (images, limits, usage) in Redis.

- `remote`: the ingress side: an engine description and a queue that sends work to model replicas.
- `deployments`: the two Ray Serve deployments (model, ingress).
- `launch`: `unclip serve --ray`: start or join a cluster, deploy, run until SIGTERM.
"""
