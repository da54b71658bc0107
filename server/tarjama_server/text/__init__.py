"""Text handling, with no model, no torch and no gRPC: sentence segmentation with source
offsets, what the model reads (normalization), language codes and identification, HTML
blocks and attributes, glossaries and the repetition check."""
