package KVS::Prometheus;

# A strict reader of Prometheus's text exposition format 0.0.4, written
# from its specification, for the suites that scrape kvs_metrics:
#
#     my ($families, @errors) = KVS::Prometheus::parse($text);
#     KVS::Prometheus::value($families, 'kvs_keys')               # 3
#     KVS::Prometheus::value($families, 'kvs_http_requests_total',
#                            area => 'kv', method => 'PUT', status => '2xx')
#
# Stricter than Prometheus itself where KVS promises more: every line is a
# "# HELP", a "# TYPE" or a sample "name{labels} value" (no other comment,
# no blank line, no timestamp); names match [a-zA-Z_:][a-zA-Z0-9_:]*,
# label names [a-zA-Z_][a-zA-Z0-9_]*; label values escape only \\, \" and
# \n; each family has one HELP and exactly one TYPE, both before its
# samples, and its samples in one group; counters end in _total; the
# buckets of a histogram's series are cumulative, in ascending le, end
# with le="+Inf" equal to its _count, and come with a _sum; no series
# twice; values parse as floats.  The text ends with a newline.

use strict;
use warnings;

my $Name  = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $Label = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $Float = qr/[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)/;

my %Types = map { $_ => 1 } qw(counter gauge histogram summary untyped);


# the float a value or an le means
sub number {
    my ($s) = @_;
    return 9**9**9 if $s eq '+Inf' || $s eq 'Inf';
    return -9**9**9 if $s eq '-Inf';
    return $s + 0;
}


# the labels of a sample, '{...}' without the braces; dies with why
sub labels {
    my ($text) = @_;
    my %l;
    my @order;

    while (length $text) {
        $text =~ s/\A($Label)="((?:[^"\\\n]|\\[\\"n])*)"//
            or die "bad label at '$text'\n";
        my ($k, $v) = ($1, $2);
        die "label $k starts with __, which is reserved\n" if $k =~ /\A__/;
        die "label $k twice\n" if exists $l{$k};
        $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
        $l{$k} = $v;
        push @order, $k;
        last if $text eq '';
        $text =~ s/\A,// or die "no comma before '$text'\n";
        die "a trailing comma\n" if $text eq '';
    }

    return (\%l, \@order);
}


# the family a sample name belongs to, given the families typed so far
sub family_of {
    my ($fam, $name) = @_;
    return $name if $fam->{$name};
    for my $suffix (qw(_bucket _sum _count)) {
        (my $base = $name) =~ s/\Q$suffix\E\z// or next;
        return $base if $fam->{$base} && $fam->{$base}{type} eq 'histogram';
    }
    return undef;
}


sub key_of {
    my ($name, $l) = @_;
    return $name . '{' . join(',', map { "$_=\"$l->{$_}\"" }
                                    sort keys %$l) . '}';
}


# (families, errors): families by name, each { type, help, samples =>
# [ { name, labels => {...}, value } ] }
sub parse {
    my ($text) = @_;
    my (%fam, @err, %seen, @groups);
    my $current = '';
    my $n = 0;

    push @err, 'the text does not end with a newline'
        unless defined $text && $text =~ /\n\z/;
    $text //= '';

    (my $body = $text) =~ s/\n\z//;

    for my $line (split /\n/, $body, -1) {
        $n++;
        my $where = "line $n ('$line')";

        if ($line =~ /\A# HELP ($Name) (.*)\z/) {
            my ($name, $help) = ($1, $2);
            (my $bare = $help) =~ s/\\[\\n]//g;
            push @err, "$where: a HELP escapes other than \\\\ and \\n"
                if $bare =~ /\\/;
            push @err, "$where: a second HELP for $name"
                if defined $fam{$name}{help};
            push @err, "$where: HELP of $name after its samples"
                if $fam{$name}{samples} && @{ $fam{$name}{samples} };
            $fam{$name}{help} = $help;
            $fam{$name}{samples} //= [];
            next;
        }

        if ($line =~ /\A# TYPE ($Name) (\S+)\z/) {
            my ($name, $type) = ($1, $2);
            push @err, "$where: unknown type $type" unless $Types{$type};
            push @err, "$where: a second TYPE for $name"
                if defined $fam{$name}{type};
            push @err, "$where: TYPE of $name after its samples"
                if $fam{$name}{samples} && @{ $fam{$name}{samples} };
            push @err, "$where: counter $name does not end in _total"
                if $type eq 'counter' && $name !~ /_total\z/;
            $fam{$name}{type} = $type;
            $fam{$name}{samples} //= [];
            next;
        }

        if ($line =~ /\A#/) {
            push @err, "$where: a comment other than HELP or TYPE";
            next;
        }

        unless ($line =~ /\A($Name)(?:\{(.*)\})? ($Float)\z/) {
            push @err, "$where: not a sample 'name{labels} value'";
            next;
        }

        my ($name, $ltext, $value) = ($1, $2 // '', $3);
        my ($l, $order) = eval { labels($ltext) };
        if ($@) {
            chomp(my $e = $@);
            push @err, "$where: $e";
            next;
        }

        my $f = family_of(\%fam, $name);
        unless (defined $f && defined $fam{$f}{type}) {
            push @err, "$where: sample $name before its family's TYPE";
            next;
        }

        if ($f ne $current) {
            push @err, "$where: the samples of $f are not in one group"
                if grep { $_ eq $f } @groups;
            push @groups, $f;
            $current = $f;
        }

        my $type = $fam{$f}{type};
        push @err, "$where: a bucket without le"
            if $name eq "${f}_bucket" && !exists $l->{le};
        push @err, "$where: le on a sample that is no bucket"
            if $name ne "${f}_bucket" && exists $l->{le};
        push @err, "$where: le=\"$l->{le}\" is not a float"
            if exists $l->{le} && $l->{le} !~ /\A$Float\z/;
        push @err, "$where: a $type sample named $name"
            if $type ne 'histogram' && $name ne $f;

        my $key = key_of($name, $l);
        push @err, "$where: series $key twice" if $seen{$key}++;

        push @{ $fam{$f}{samples} },
             { name => $name, labels => $l, value => number($value) };
    }

    for my $f (sort keys %fam) {
        push @err, "family $f has HELP but no TYPE"
            unless defined $fam{$f}{type};
        next unless ($fam{$f}{type} // '') eq 'histogram';
        push @err, histogram_errors($f, $fam{$f}{samples});
    }

    return (\%fam, @err);
}


# a histogram's series: cumulative buckets ending in +Inf = _count, a _sum
sub histogram_errors {
    my ($f, $samples) = @_;
    my (%series, @err);

    for my $s (@$samples) {
        my %l = %{ $s->{labels} };
        my $le = delete $l{le};
        my $k = key_of($f, \%l);
        if ($s->{name} eq "${f}_bucket") {
            push @{ $series{$k}{buckets} }, [number($le), $s->{value}, $le];
        } elsif ($s->{name} eq "${f}_sum") {
            $series{$k}{sum} = $s->{value};
        } else {
            $series{$k}{count} = $s->{value};
        }
    }

    for my $k (sort keys %series) {
        my $s = $series{$k};
        my @b = @{ $s->{buckets} || [] };
        push @err, "$k: no buckets" unless @b;
        push @err, "$k: no _sum" unless defined $s->{sum};
        push @err, "$k: no _count" unless defined $s->{count};
        next unless @b;
        for my $i (1 .. $#b) {
            push @err, "$k: le=\"$b[$i][2]\" does not follow "
                       . "le=\"$b[$i-1][2]\""
                unless $b[$i][0] > $b[$i - 1][0];
            push @err, "$k: the bucket le=\"$b[$i][2]\" is below the one "
                       . "before"
                unless $b[$i][1] >= $b[$i - 1][1];
        }
        push @err, "$k: the last bucket is not le=\"+Inf\""
            unless $b[-1][2] eq '+Inf';
        push @err, "$k: +Inf is $b[-1][1] but _count is $s->{count}"
            if defined $s->{count} && $b[-1][1] != $s->{count};
    }

    return @err;
}


# the value of the sample of that name with exactly these labels, or undef
sub value {
    my ($fam, $name, %want) = @_;
    my $f = family_of($fam, $name) // return undef;
    for my $s (@{ $fam->{$f}{samples} }) {
        next unless $s->{name} eq $name;
        my $l = $s->{labels};
        next unless keys %$l == keys %want;
        next if grep { !exists $l->{$_} || $l->{$_} ne $want{$_} } keys %want;
        return $s->{value};
    }
    return undef;
}


# for a block's response_body_filters: "valid", or the errors, one a line,
# then the sample lines a pattern picks, in order
sub pick {
    my ($text, $pattern) = @_;
    my ($fam, @err) = parse($text);
    my @lines = defined $pattern
              ? grep { !/\A#/ && /$pattern/ } split /\n/, $text : ();
    return join '', map { "$_\n" } (@err ? @err : 'valid'), @lines;
}

1;
