//! What users do: session mixes (RUBiS transition tables), load profiles and traces.
