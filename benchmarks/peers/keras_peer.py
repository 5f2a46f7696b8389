"""Keras 3 on TensorFlow, for benchmarks/speed.py: run inside benchmarks/.venv-keras.

The models of the Keras blog tutorial ("Building Autoencoders in Keras") as written
there: Glorot-uniform init, Adam (lr 1e-3), binary cross-entropy, ``fit(shuffle=True)``.
speed.py runs it with ``KERAS_BACKEND=tensorflow`` and TensorFlow's C++ logs quietened.
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf
from keras import layers
from peer_common import Curve, bce, best_encoding, load_images, parser, reply

HIDDEN = {"dense": (), "deep": (128, 64)}
LATENT = 32


def build(model: str) -> tuple[keras.Model, keras.Model]:
    """(autoencoder, encoder) of ``model``; the encoder shares the autoencoder's layers."""
    if model == "conv":
        inputs = keras.Input((28, 28, 1))
        x = layers.Conv2D(32, 3, activation="relu", padding="same")(inputs)
        x = layers.MaxPooling2D(2, padding="same")(x)
        x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
        code = layers.MaxPooling2D(2, padding="same")(x)  # (7, 7, 32)
        x = layers.Conv2D(32, 3, activation="relu", padding="same")(code)
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
        x = layers.UpSampling2D(2)(x)
        outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    else:
        inputs = keras.Input((28 * 28,))
        x = inputs
        for units in (*HIDDEN[model], LATENT):
            x = layers.Dense(units, activation="relu")(x)
        code = x
        for units in reversed(HIDDEN[model]):
            x = layers.Dense(units, activation="relu")(x)
        outputs = layers.Dense(28 * 28, activation="sigmoid")(x)
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


class CurveCheck(keras.callbacks.Callback):
    """Runs after EpochTimer in the callback list, so its time is no epoch's."""

    def __init__(self, curve: Curve) -> None:
        super().__init__()
        self.curve = curve

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.curve.check(epoch + 1):
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self.started)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    keras.utils.set_random_seed(args.seed)
    shape = (28, 28, 1) if args.model == "conv" else (28 * 28,)
    x = load_images(args.data_dir, "train", args.limit).reshape(-1, *shape)
    x_test = load_images(args.data_dir, "test", args.limit).reshape(-1, *shape)

    autoencoder, encoder = build(args.model)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    timer = EpochTimer()
    callbacks: list = [timer]
    if args.curve:
        curve = Curve(
            lambda: bce(autoencoder.predict(x_test, batch_size=1024, verbose=0), x_test),
            args.target_bce,
        )
        callbacks.append(CurveCheck(curve))
    history = autoencoder.fit(
        x,
        x,
        epochs=args.epochs,
        batch_size=args.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    reconstruction = autoencoder.predict(x_test, batch_size=1024, verbose=0)
    result = {
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "epoch_seconds": timer.seconds,
        "train_losses": [float(v) for v in history.history["loss"]],
        "test_bce": bce(reconstruction, x_test),
    }
    if args.curve:
        result["curve"] = curve.points
    if args.encode:
        result["encode"] = best_encoding(
            lambda images, batch_size: encoder.predict(images, batch_size=batch_size, verbose=0),
            x_test,
        )
    reply(result)


if __name__ == "__main__":
    main()
