"""pylm's Client against a master: `client.py DB_ADDRESS FUNCTION PAYLOAD`; prints the result."""
import sys

from pylm.clients import Client

client = Client('server', sys.argv[1])
result = client.eval(sys.argv[2], sys.argv[3].encode())
# pylm logs to stdout too: mark the result's line.
print('RESULT:' + result.decode(), flush=True)
