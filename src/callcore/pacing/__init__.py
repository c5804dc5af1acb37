"""callcore.pacing"""
