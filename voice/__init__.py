"""The voice kiosk's pipeline (capture → Vosk ASR → bot client → pyttsx3 TTS): built in the kiosk issue."""
