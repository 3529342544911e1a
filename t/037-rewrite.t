# A URI nginx changed names the key: a rewrite (break or last), an
# internal redirect by try_files or error_page, and the subrequests of SSI
# and auth_request reach the key of the URI nginx routes, decoded as nginx
# decoded it, with the arguments nginx kept.  Before 2026-12-04 the key
# was taken from the client's request line whatever nginx had made of it:
# a tenant's rewrite stored every tenant's key in one place, and the rest
# were 400s or subrequests that failed.  A client's URI that nginx did not
# change is still read as sent, so "a//b" stays a 400.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

our $Uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
our $Written = qr/^\{"uuid":"$Uuid","timestamp":1\d{12}\}\n\z/;

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a rewrite ... break keeps each tenant's keys under its own prefix
--- config
location /kv/ {
    rewrite ^/kv/(.*)$ /kv/tenants/$http_x_tenant/$1 break;
    kvs_api;
}
location /admin/ {
    rewrite ^/admin/(.*)$ /kv/$1 break;
    kvs_api;
}
--- request eval
["PUT /kv/secret\n\"of a\"",
 "GET /kv/secret",
 "GET /kv/secret",
 "GET /admin/tenants/a/secret",
 "GET /admin/secret",
 "PUT /kv/secret\n\"of nobody\""]
--- more_headers eval
["X-Tenant: a", "X-Tenant: a", "X-Tenant: b", "", "", ""]
--- error_code eval
[200, 200, 404, 200, 404, 400]
--- response_body eval
[$::Written,
 '"of a"',
 qq({"error":"key \\"tenants/b/secret\\" not found"}\n),
 '"of a"',
 qq({"error":"key \\"secret\\" not found"}\n),
 qq({"error":"the key has an empty segment"}\n)]
--- no_error_log
[error]



=== TEST 2: a rewrite ... last into /kv/new/ reads, lists and deletes new/k
--- config
location /kv/ {
    rewrite ^/kv/old/(.*)$ /kv/new/$1 last;
    kvs_api;
}
--- request eval
["PUT /kv/old/k\n1",
 "GET /kv/new/k",
 "GET /kv/old/k?meta",
 "GET /kv/",
 "DELETE /kv/old/k",
 "GET /kv/new/k",
 "GET /kv/a//b"]
--- error_code eval
[200, 200, 200, 200, 204, 404, 400]
--- response_body eval
[$::Written,
 "1",
 qr/^\{"uuid":"$::Uuid",.*"size":1,/,
 qq({"keys":["new/k"],"next":null}\n),
 "",
 qq({"error":"key \\"new/k\\" not found"}\n),
 qq({"error":"the key has an empty segment"}\n)]
--- no_error_log
[error]



=== TEST 3: a rewrite from another prefix: the key is the URI nginx decoded and normalized
--- config
location /store/ {
    rewrite ^/store/(.*)$ /kv/$1 last;
}
location /kv/ {
    kvs_api;
}
--- request eval
["PUT /store/s/a%23b\n\"hash\"",
 "GET /kv/s/a%23b",
 "PUT /store/s/100%2525\n\"percent\"",
 "GET /kv/s/100%2525",
 "GET /store/s/?recursive=false",
 "GET /store/s//100%2525",
 "GET /store/x/../s/a%23b"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
[$::Written,
 '"hash"',
 $::Written,
 '"percent"',
 qq({"keys":["s/100%25","s/a#b"],"next":null}\n),
 '"percent"',
 '"hash"']
--- no_error_log
[error]



=== TEST 4: try_files falls back to the key it names, for a GET and a PUT
--- config
location /kv/ {
    kvs_api;
}
location /files/ {
    root html;
    log_not_found off;
    try_files $uri /kv/tf$uri;
}
--- request eval
["PUT /kv/tf/files/k\n\"from try_files\"",
 "GET /files/k",
 "PUT /files/new\n\"put through\"",
 "GET /kv/tf/files/new"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[$::Written, '"from try_files"', $::Written, '"put through"']
--- no_error_log
[error]



=== TEST 5: error_page 404 = /kv/h2 answers the key named
--- config
location / {
    root html;
    log_not_found off;
    error_page 404 = /kv/h2;
}
location /kv/ {
    kvs_api;
}
--- request eval
["PUT /kv/h2\n\"fallback\"",
 "GET /nothing.html"]
--- error_code eval
[200, 200]
--- response_body eval
[$::Written, '"fallback"']
--- no_error_log
[error]



=== TEST 6: an SSI include embeds the value of the key it names
--- user_files
>>> node.yaml
data_dir: html/data
>>> page.html
<p><!--# include virtual="/kv/h2" --></p>
--- config
location / {
    root html;
    ssi on;
}
location /kv/ {
    kvs_api;
}
--- request eval
["PUT /kv/h2\n{\"a\":1}",
 "GET /page.html"]
--- error_code eval
[200, 200]
--- response_body eval
[$::Written, qq(<p>{"a":1}</p>\n)]
--- no_error_log
[error]



=== TEST 7: auth_request lets a page through once its key exists
--- user_files
>>> node.yaml
data_dir: html/data
>>> page.html
open
--- config
location / {
    root html;
    auth_request /kv/acl/page;
}
location /kv/ {
    kvs_api;
}
--- request eval
["PUT /kv/acl/page\ntrue",
 "GET /page.html"]
--- error_code eval
[200, 200]
--- response_body eval
[$::Written, "open\n"]
--- no_error_log
[error]



=== TEST 8: a named location keeps the client's URI, read as sent
--- config
location /kv/ {
    error_page 418 = @kv;
    return 418;
}
location @kv {
    kvs_api;
}
--- request eval
["GET /kv/a//b",
 "GET /kv/n/k"]
--- error_code eval
[400, 404]
--- response_body eval
[qq({"error":"the key has an empty segment"}\n),
 qq({"error":"key \\"n/k\\" not found"}\n)]
--- no_error_log
[error]
