"""The model: two calibrated LightGBM classifiers (long event, short event), their artifacts,
training and evaluation.

The live cycle imports `signaldesk.model.inference` only (numpy + lightgbm); training and evaluation
modules may use scikit-learn and matplotlib.
"""
