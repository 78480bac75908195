"""The sentiment case study (Parts 2 and 3): data, the pre-trained model, training, metrics, cross-validation
and error analysis. The steps students write themselves are in their notebooks, not here."""
