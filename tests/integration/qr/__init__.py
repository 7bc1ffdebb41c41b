"""QR codes from real rendered and distorted images through the camera pipeline."""
