"""callcore.sip"""
