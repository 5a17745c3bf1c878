"""Custom Rasa NLU components, loaded by the engine from config.yml (Python 3.10, the engine's
environment): sentence semantics from a pre-trained encoder, character and pinyin n-grams that
survive recognition errors, a linear intent classifier, canonical values for the closed entity
sets, and a second, high-recall check for emergencies."""
