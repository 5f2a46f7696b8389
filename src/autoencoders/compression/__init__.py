"""Learned image compression: an autoencoder whose code is an integer file.

>>> from autoencoders.compression import ImageCodec
>>> codec = ImageCodec(lmbda=0.01).fit(train_images)         # doctest: +SKIP
>>> data = codec.encode_bytes(images)                          # doctest: +SKIP
>>> images = codec.decode_bytes(data)                          # doctest: +SKIP

``constriction`` (the ``compression`` extra) does the entropy coding.
"""

from autoencoders.compression.codec import ImageCodec

__all__ = ["ImageCodec"]
