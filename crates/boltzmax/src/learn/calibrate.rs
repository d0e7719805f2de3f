//! Calibration of classifiers: temperature, vector and matrix scaling, and calibration metrics.
