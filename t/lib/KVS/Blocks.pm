package KVS::Blocks;

# What the Test::Nginx block suites share.  Every block starts from an
# empty store: the node's YAML is a user file in html/, and so is the store
# it names (data_dir: html/data), which Test::Nginx removes with the rest
# of the server root between blocks.  A block without its own
# --- http_config and --- user_files gets these.  A suite says
#
#     add_block_preprocessor(\&KVS::Blocks::empty_store);
#
# so that it works under the real Test::Nginx and the bundled one alike.
# A suite of auth_enabled stories says
#
#     add_block_preprocessor(\&KVS::Blocks::auth_store);
#
# for an empty store of a node with auth on: its secret is KVS::Token's
# $Secret, and the first admin it creates logs in with "admin-password".

use strict;
use warnings;

use KVS::Token;

sub empty_store {
    my ($block) = @_;
    $block->set_value(http_config => 'kvs_config ../html/node.yaml;')
        unless defined $block->http_config;
    $block->set_value(user_files => ">>> node.yaml\ndata_dir: html/data\n")
        unless defined $block->user_files;
}

sub auth_store {
    my ($block) = @_;
    $block->set_value(http_config => 'kvs_config ../html/node.yaml;')
        unless defined $block->http_config;
    $block->set_value(user_files => ">>> node.yaml\n"
                                    . "data_dir: html/data\n"
                                    . "auth_enabled: true\n"
                                    . "jwt_secret_file: html/jwt.secret\n"
                                    . "admin_password_file: html/admin.pw\n"
                                    . "audit_secret_file: html/audit.secret\n"
                                    . ">>> audit.secret\n"
                                    . ('audit' x 8) . "\n"
                                    . ">>> jwt.secret\n"
                                    . "$KVS::Token::Secret\n"
                                    . ">>> admin.pw\n"
                                    . "admin-password\n")
        unless defined $block->user_files;
}

1;
