"""``core.cache.RedisCache``: Django's Redis cache against the real server, one client per pool."""

import os
import threading

import pytest

from portal.core.cache import RedisCache

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{os.getpid()}"})
    try:
        cache.get("ping")
    except Exception as error:
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    yield cache
    cache.clear()


def test_it_stores_reads_and_counts_like_djangos(redis_cache):
    redis_cache.set("numbers", {"decided": 10}, 30)
    assert redis_cache.get("numbers") == {"decided": 10}
    assert redis_cache.add("generation", 0, None) and not redis_cache.add("generation", 5, None)
    assert redis_cache.incr("generation") == 1
    redis_cache.delete("numbers")
    assert redis_cache.get("numbers", "gone") == "gone"


def test_one_client_serves_every_call_and_every_thread(redis_cache):
    first = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is first  # one server: one pool
    seen, errors = [], []

    def work(n: int) -> None:
        try:
            for i in range(50):
                redis_cache.set(f"k{n}", i, 30)
                assert redis_cache.get(f"k{n}") == i
            seen.append(redis_cache._cache.get_client())
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(seen) == 8 and all(client is first for client in seen)
