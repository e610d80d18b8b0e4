"""Building blocks shared by two or more models (modulation, attention, wavelets, guided filter, deformable conv)."""
