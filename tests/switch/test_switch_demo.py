from callcore.demo import run_demo


def test_demo_runs_end_to_end(arun):
    # 2 hotline calls + digest-authenticated extension + 4 burst calls answered;
    # the unauthenticated extension call (407) and the unknown number (404) rejected
    assert arun(run_demo(calls=4)) == {"answered": 7, "rejected": 2}
