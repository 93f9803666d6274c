"""M-learner steps 2-4: embedding, clustering, CART profiles, calibrated tests, subgroup results."""
