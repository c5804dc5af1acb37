"""callcore.rtp"""
