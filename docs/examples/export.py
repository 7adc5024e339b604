"""Export the trained classifier for predict.py."""

from train import model

model.save("classifier.keras")
