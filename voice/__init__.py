"""The voice kiosk's pipeline, one small module per stage: audio (normalise to 16 kHz 16-bit mono
at the boundary) → asr (Vosk, streaming and grammar-restricted) → text (Chinese clean-up) → the bot
→ tts (pyttsx3 + espeak-ng, WAV out)."""
