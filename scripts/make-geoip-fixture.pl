#!/usr/bin/perl
# Writes the small GeoIP fixture databases the origin tests (and a probe run on a developer's
# machine) use instead of the real DB-IP / MaxMind downloads, which are too large and licensed.
#
# Usage: perl scripts/make-geoip-fixture.pl [OUTDIR]   (default: origin/fixtures/geoip)
# Set SOURCE_DATE_EPOCH to pin the embedded build time and get byte-identical output.
use strict;
use warnings;

use File::Spec;
use MaxMind::DB::Writer::Tree;

my $outdir = shift @ARGV // 'origin/fixtures/geoip';
die "output directory $outdir does not exist\n" unless -d $outdir;

# [network, country code, English name, ASN, AS organization]. Documentation ranges only, so the
# fixture can never be mistaken for real data; loopback so a local probe gets a real test list.
my @networks = (
    [ '203.0.113.0/24',    'IT', 'Italy',         30722,  'Vodafone Italia S.p.A.' ],
    [ '198.51.100.0/24',   'US', 'United States', 7922,   'Comcast Cable Communications, LLC' ],
    [ '192.0.2.0/24',      'IR', 'Iran',          197207, 'Mobile Communication Company of Iran PLC' ],
    [ '2001:db8::/32',     'DE', 'Germany',       3320,   'Deutsche Telekom AG' ],
    [ '127.0.0.0/8',       'IT', 'Italy',         30722,  'Vodafone Italia S.p.A.' ],
    [ '::1/128',           'IT', 'Italy',         30722,  'Vodafone Italia S.p.A.' ],
    # More specific than the /32 above: proves longest-prefix match.
    [ '2001:db8:1::/48',   'BR', 'Brazil',        28573,  'Claro NXT Telecomunicacoes Ltda' ],
);

# The "alt" pair differs only in 203.0.113.0/24, so the hot-reload test can tell which file is live.
my %alt_override = (
    '203.0.113.0/24' => [ 'FR', 'France', 3215, 'Orange S.A.' ],
);

my %types = (
    country                        => 'map',
    registered_country             => 'map',
    names                          => 'map',
    iso_code                       => 'utf8_string',
    en                             => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub new_tree {
    my ( $type, $what ) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        remove_reserved_networks => 0,
        alias_ipv6_to_ipv4       => 1,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => "ooni-edge test fixture ($what); not real data" },
        map_key_type_callback    => sub { $types{ $_[0] } // die "no type for key $_[0]\n" },
    );
    $tree->_set_build_epoch( $ENV{SOURCE_DATE_EPOCH} ) if defined $ENV{SOURCE_DATE_EPOCH};
    return $tree;
}

sub write_pair {
    my ( $prefix, $override ) = @_;
    my $country = new_tree( 'DBIP-Country-Lite', 'country' );
    my $asn     = new_tree( 'DBIP-ASN-Lite',     'asn' );
    for my $n (@networks) {
        my ( $net, $cc, $name, $asnum, $org ) = @$n;
        ( $cc, $name, $asnum, $org ) = @{ $override->{$net} } if $override->{$net};
        $country->insert_network( $net, { country => { iso_code => $cc, names => { en => $name } } } );
        $asn->insert_network( $net,
            { autonomous_system_number => $asnum, autonomous_system_organization => $org } );
    }
    for my $pair ( [ $country, 'country.mmdb' ], [ $asn, 'asn.mmdb' ] ) {
        my $path = File::Spec->catfile( $outdir, $prefix . $pair->[1] );
        open my $fh, '>:raw', $path or die "cannot write $path: $!\n";
        $pair->[0]->write_tree($fh);
        close $fh or die "cannot close $path: $!\n";
        print "wrote $path\n";
    }
}

write_pair( '',     {} );
write_pair( 'alt-', \%alt_override );
