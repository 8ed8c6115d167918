"""Training data: folders of images + captions, webdataset tar shards and manifests behind one
interface (`unclip.data.source.ImageTextSource`, opened with `unclip.data.config.open_source`),
deterministic global batches (`unclip.data.sampler`) and precomputed CLIP embeddings
(`unclip.data.embeddings`). Dataset builders (`unclip data`) live in `unclip.data.sources`.

Nothing is imported here, so that `unclip.data.sources` does not pull in the training extras.
"""
