"""tflint-save: find TensorFlow/Keras save, load, custom-layer and metric bugs before they run."""

__version__ = "0.1.0"
