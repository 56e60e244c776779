import resource, sys, time
from anonymizer import detect_entities
n = int(sys.argv[1])
para = "On 5 April 1993 John Smith met Maria Garcia of Acme Corp in Springfield, Illinois, to discuss the merger. "
text = (para * (n // len(para) + 1))[:n]
t = time.time()
[spans] = detect_entities([text])
print(n, len(spans), "peak MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "s", round(time.time() - t, 1))
